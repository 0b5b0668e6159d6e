using Dapper;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Incidents;

public sealed class IncidentConcurrencyTests : TestDatabase
{
    [Fact]
    public async Task Two_concurrent_writers_one_conflicts_retries_and_both_effects_survive()
    {
        await using var database = await MigratedAsync();
        var psap = await new Seed(database, new FieldCipher(Keys)).AgencyAsync("metro", "psap");
        var store = StoreFor(database);
        var context = new AgencyContext(psap);
        Guid id;
        await using (var scope = await store.BeginAsync(context))
        {
            id = (await IncidentStore.CreateAsync(scope, Guid.CreateVersion7(), new NewIncident("dangerous", "Leak", "initial", "1 Main St"), DateTimeOffset.UtcNow)).Id;
            await scope.CommitAsync();
        }

        // Both read version 1 before either writes.
        var bothRead = new Barrier(2);
        var attempts = 0;
        var conflicts = 0;
        async Task<IncidentState> WriteAsync(Func<IncidentState, IncidentState> decide)
        {
            var first = true;
            return await Concurrency.RetryOnConflictAsync(async _ =>
            {
                Interlocked.Increment(ref attempts);
                await using var scope = await store.BeginAsync(context);
                var before = (await IncidentStore.GetAsync(scope, id))!;
                if (first)
                {
                    first = false;
                    await Task.Run(() => bothRead.SignalAndWait(TimeSpan.FromSeconds(30)));
                }
                try
                {
                    var saved = await IncidentStore.SaveAsync(scope, before, decide(before));
                    await scope.CommitAsync();
                    return saved;
                }
                catch (ConcurrencyConflictException)
                {
                    Interlocked.Increment(ref conflicts);
                    throw;
                }
            });
        }

        await Task.WhenAll(
            WriteAsync(s => s.Reprioritise(IncidentPriority.Irod)),
            WriteAsync(s => s.AmendDescription(s.Description + " + crew on scene")));

        Assert.Equal(1, conflicts);
        Assert.Equal(3, attempts);
        await using var read = await store.BeginAsync(context);
        var final = (await IncidentStore.GetAsync(read, id))!;
        Assert.Equal((IncidentPriority.Irod, "initial + crew on scene", 3), (final.Priority, final.Description, final.Version));
        Assert.Equal(3, await read.ExecuteScalarAsync<int>("select count(*) from audit_logs where entity_id = @id", new { id }));
    }
}
