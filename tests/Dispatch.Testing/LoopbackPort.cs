using System.Net;
using System.Net.Sockets;

namespace Dispatch.Testing;

public static class LoopbackPort
{
    /// <summary>
    /// A TCP port on 127.0.0.1 that was free a moment ago, picked below the kernel's ephemeral range (32768–60999 on Linux),
    /// where outgoing connections take their source ports and could grab it before its listener binds.
    /// </summary>
    public static int Free()
    {
        for (var tries = 0; tries < 200; tries++)
        {
            var port = Random.Shared.Next(12000, 20000);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
