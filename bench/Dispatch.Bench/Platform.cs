// The bench drives PostgreSQL and the hosts as the AppHost does, through POSIX tools.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
