import { Controller, type Provider, Get, Header, NotFoundException, Param, Req, StreamableFile, UseFilters, UseGuards, type CanActivate, type Type } from '@nestjs/common';
import { StentAdminExceptionFilter } from './admin-exception.filter.js';
import { apiBaseOf, dashboardFiles, renderDashboardPage } from './dashboard-assets.js';

/** Scripts, styles and API calls from this origin only; the page is never framed. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Private: the files are not secret, but they sit behind the application's guards. */
const IMMUTABLE = 'private, max-age=31536000, immutable';

/**
 * The dashboard at `<path>/ui`, behind the same guards as the API: a request a guard rejects gets the
 * guard's error instead of the page. The page calls the admin routes next to it with the browser's own
 * credentials (cookies, basic auth); its files come from the library's build, held in memory.
 */
export function createDashboardController(path: string, guards: Array<Type<CanActivate> | CanActivate>, readOnly: boolean): Type<unknown> {
  const files = dashboardFiles();
  const modules = [...files.assets.keys()].filter((name) => name.endsWith('.js'));

  @Controller(path)
  @UseGuards(...guards)
  @UseFilters(StentAdminExceptionFilter)
  class StentDashboardController {
    @Get('ui')
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Cache-Control', 'no-cache')
    @Header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    @Header('X-Content-Type-Options', 'nosniff')
    @Header('Referrer-Policy', 'same-origin')
    page(@Req() request: { originalUrl?: string; url: string }): string {
      return renderDashboardPage(files.template, apiBaseOf(request.originalUrl ?? request.url), readOnly, files.version, modules);
    }

    // Asset addresses carry the build's version (modules import each other relatively, so all of them do):
    // the browser keeps them until the library changes, and the page (never cached) names the current one.
    @Get('ui/assets/:version/:file')
    @Header('Cache-Control', IMMUTABLE)
    @Header('X-Content-Type-Options', 'nosniff')
    asset(@Param('version') version: string, @Param('file') file: string): StreamableFile {
      return serve(version, file);
    }

    @Get('ui/assets/:version/:dir/:file')
    @Header('Cache-Control', IMMUTABLE)
    @Header('X-Content-Type-Options', 'nosniff')
    nestedAsset(@Param('version') version: string, @Param('dir') dir: string, @Param('file') file: string): StreamableFile {
      return serve(version, `${dir}/${file}`);
    }
  }

  function serve(version: string, name: string): StreamableFile {
    const asset = version === files.version ? files.assets.get(name) : undefined;
    if (!asset) throw new NotFoundException(`no dashboard file '${name}'`);
    return new StreamableFile(asset.body, { type: asset.type, length: asset.body.length });
  }

  return StentDashboardController;
}

/** A startup provider that keeps the dashboard's routes out of the app's OpenAPI document (they serve a page, not JSON). */
export function hiddenFromOpenApi(controller: Type<unknown>): Provider {
  return {
    provide: Symbol.for('stent.admin.dashboard.openapi'),
    useFactory: async () => {
      try {
        const swagger = (await import('@nestjs/swagger' as string)) as { ApiExcludeController: () => ClassDecorator };
        swagger.ApiExcludeController()(controller);
      } catch {
        // @nestjs/swagger is an optional peer: without it there is no document to keep them out of.
      }
      return true;
    },
  };
}
