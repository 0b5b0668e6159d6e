// The AppHost runs PostgreSQL through POSIX tools (sh, setpriv) and keeps its secrets in files only their owner reads.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
