import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';

export const ADMIN_TOKEN = Symbol.for('stent.server.token');

const digest = (value: string) => createHash('sha256').update(value).digest();

interface HttpPair {
  request: { headers: Record<string, string | string[] | undefined> };
  response: { setHeader(name: string, value: string): void };
}

/**
 * Lets through requests that carry the server's token: `Authorization: Bearer <token>` (scripts, the CLI)
 * or HTTP basic auth with the token as the password (a browser opening the dashboard, which asks for it
 * when refused with `WWW-Authenticate: Basic`). Compares in constant time.
 */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(ADMIN_TOKEN) token: string) {
    this.expected = digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const { headers } = http.getRequest<HttpPair['request']>();
    const offered = tokenFrom(headers.authorization);
    if (offered !== null && timingSafeEqual(digest(offered), this.expected)) return true;
    http.getResponse<HttpPair['response']>().setHeader('WWW-Authenticate', 'Basic realm="stent", charset="UTF-8"');
    throw new UnauthorizedException('the admin token is required: Authorization: Bearer <token>, or basic auth with the token as password');
  }
}

function tokenFrom(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const bearer = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (bearer) return bearer[1]!;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}
