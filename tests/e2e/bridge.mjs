// Runs inside the test network namespace: forwards each connection on a Unix socket to host:port
// (the ferrosoup server on the namespace's loopback), so the test process outside can reach it.
// Usage: node bridge.mjs <socket path> <host> <port>
import net from 'node:net';
import { rmSync } from 'node:fs';

const [sockPath, host, port] = process.argv.slice(2);
rmSync(sockPath, { force: true });

const server = net.createServer((client) => {
  const upstream = net.connect(Number(port), host);
  client.pipe(upstream);
  upstream.pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', end);
  upstream.on('error', end);
  client.on('close', end);
  upstream.on('close', end);
});
server.listen(sockPath, () => console.log(`bridge ready ${sockPath} -> ${host}:${port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
