/** Metadata key of @OnStentEvent on a method: the events it handles. */
export const STENT_EVENT_HANDLER_METADATA = 'stent:event-handler';

/** The SqlStore the module opened (its connection is made on first use). */
export const STENT_STORE = Symbol('STENT_STORE');
