// What nearly every endpoint of this project names: results, the caller, the store and the grains' contracts.
global using Dispatch.Api.Auth;
global using Dispatch.Api.Http;
global using Dispatch.Grains.Agencies;
global using Dispatch.Grains.Identity;
global using Dispatch.Grains.Incidents;
global using Dispatch.Grains.Notifications;
global using Dispatch.Grains.Routing;
global using Dispatch.Grains.Storage;
global using Microsoft.AspNetCore.Http.HttpResults;
