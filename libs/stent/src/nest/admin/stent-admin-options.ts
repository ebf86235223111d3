import type { CanActivate, ModuleMetadata, Type } from '@nestjs/common';

export interface StentAdminOptions {
  /** Where the routes are mounted (default '/stent'). */
  path?: string;
  /**
   * Guards run before every admin route (classes resolved in the admin module, or instances), e.g. one
   * that checks a bearer token or a role. Mutating routes refuse to mount without one (see allowUnguarded).
   */
  guards?: Array<Type<CanActivate> | CanActivate>;
  /**
   * Mount the mutating routes (dispatch, cancel, signal, retry, replay, discard) without a guard: only when
   * something else protects them (a global guard, a gateway, a private network). Default false.
   */
  allowUnguarded?: boolean;
  /** Mount only the read routes (no dispatch, cancel, signal, retry, replay, discard). Default false. */
  readOnly?: boolean;
  /** Modules that guards' dependencies come from. */
  imports?: ModuleMetadata['imports'];
  /** Extra providers for the guards (their dependencies). */
  providers?: ModuleMetadata['providers'];
  /**
   * Serve the web dashboard at `<path>/ui` (same guards; its actions hidden when readOnly). Default true.
   * The page calls the API with the browser's credentials, so guards that read a cookie or basic auth fit it.
   */
  dashboard?: boolean;
  /** The tag the routes carry in an OpenAPI document (when @nestjs/swagger is installed). Default 'stent'. */
  openApiTag?: string;
  /**
   * Security schemes of the application's OpenAPI document the routes require (e.g. ['bearer'] after
   * DocumentBuilder().addBearerAuth()), so Swagger UI sends the credentials your guard checks.
   */
  openApiSecurity?: string[];
}
