/**
 * The floor for push latency: a bare Socket.IO server that relays one Redis
 * pub/sub channel to one room, nothing else (no auth, no seq, no replay).
 * Run as a child of push-latency.ts: `node --import tsx bare-relay.ts`
 * with PORT, REDIS_URL and CHANNEL; prints `listening <port>` when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const channel = process.env.CHANNEL!;
const server = createServer();
const io = new Server(server, { serveClient: false });
const subscriber = new Redis(process.env.REDIS_URL!);

io.on('connection', (socket) => {
  socket.on('join', (_: unknown, ack?: () => void) => {
    void socket.join('room');
    if (typeof ack === 'function') ack();
  });
});
// The same work a relay must do at least: parse the message, emit it to the room.
subscriber.on('message', (_channel: string, message: string) => {
  io.to('room').emit('job.update', JSON.parse(message));
});
await subscriber.subscribe(channel);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => {
  io.close();
  subscriber.disconnect();
  process.exit(0);
});
