using Dispatch.Api.Http;
using Dispatch.Grains.Incidents;

namespace Dispatch.Api.Incidents;

public sealed record NewIncidentRequest(string? Priority, string? Title, string? Description, string? Address, string? IncidentType,
    IReadOnlyList<Guid>? AgencyIds)
{
    public Errors Validate() => new Errors()
        .Check(IncidentPriority.IsValid(Priority), "priority", "priority is one of irod, critical, dangerous, routine_special.")
        .Check(!string.IsNullOrWhiteSpace(Title) && Title.Length <= 200, "title", "title is required (at most 200 characters).")
        .Check((Description?.Length ?? 0) <= 10_000, "description", "description is at most 10000 characters.")
        .Check((Address?.Length ?? 0) <= 500, "address", "address is at most 500 characters.")
        .Check(IncidentType is null || Endpoints.IsSlug(IncidentType), "incidentType", "incidentType is a lower-case slug such as gas-leak.")
        .Check(AgencyIds is null || AgencyIds.Distinct().Count() == AgencyIds.Count, "agencyIds", "agencyIds lists each company once.");
}

public sealed record AssignCompaniesRequest(IReadOnlyList<Guid>? AgencyIds)
{
    public Errors Validate() => new Errors().Check(AgencyIds is { Count: > 0 }, "agencyIds", "agencyIds lists at least one company.");
}
