import { SetMetadata } from '@nestjs/common';
import type { StentEventName } from '../core/index.js';
import { STENT_EVENT_HANDLER_METADATA } from './stent.constants.js';

/**
 * Calls the decorated method of a provider with the payload of each lifecycle event `event` of this
 * process's engine (see StentEventMap), in the order the engine emits them. A handler that throws or
 * rejects is logged; the engine goes on. Handlers run synchronously in the engine's path: keep them short,
 * or hand slow work to a queue.
 *
 *   @OnStentEvent('step.failed')
 *   onFailure({ executionId, name, attempt, error, willRetry }: StentEventMap['step.failed'][0]) { ... }
 */
export const OnStentEvent = (event: StentEventName): MethodDecorator => SetMetadata(STENT_EVENT_HANDLER_METADATA, event);
