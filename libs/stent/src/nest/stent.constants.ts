/** The SqlStore the module opened (its connection is made on first use). */
export const STENT_STORE = Symbol('STENT_STORE');
