// The AppHost drives PostgreSQL through POSIX tools (runuser, setsid, signals).
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
