// The tests run PostgreSQL and the AppHost through POSIX tools, as the AppHost does.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
