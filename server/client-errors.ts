import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Errors Node's HTTP parser answers itself, before a request reaches the app:
 * a request line and headers past `--max-http-header-size` (16 KiB), a chunk
 * extension too large, a request that took too long to arrive, and
 * malformed HTTP. The status is Node's own; the body is the contract's.
 */
const PARSER_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', message: 'The request line and headers are larger than the server accepts (16 KiB).' },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, code: 'payload_too_large', message: 'A chunk extension is larger than the server accepts.' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', message: 'The request took too long to arrive.' },
};
const MALFORMED = { status: 400, code: 'invalid_request', message: 'The request is not valid HTTP.' };

/**
 * Answers the HTTP parser's errors with `{error:{code, message}}` (CONTRACT
 * section 3) instead of Node's empty bodies, and closes the connection, as
 * Node does: what follows on it cannot be parsed.
 */
export function answerParserErrors(server: Server): void {
  server.on('clientError', (error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    // Part of a response already went out on this connection (Node checks the same): nothing sensible can follow.
    const responding = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (error.code === 'ECONNRESET' || !socket.writable || responding) {
      socket.destroy();
      return;
    }
    const { status, code, message } = PARSER_ERRORS[error.code ?? ''] ?? MALFORMED;
    const body = JSON.stringify({ error: { code, message } });
    // The answer to a HEAD carries no body (a client reading one would take it for a second response).
    const head = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
    );
  });
}
