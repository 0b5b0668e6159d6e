// Local PostgreSQL clusters are driven through POSIX tools (runuser, setsid, signals).
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
