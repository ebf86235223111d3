/** Metadata key of @OnStentEvent on a method: the events it handles. */
export const STENT_EVENT_HANDLER_METADATA = 'stent:event-handler';
