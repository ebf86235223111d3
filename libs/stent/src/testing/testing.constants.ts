/** Injection token of the options StentTestingModule.forRoot was given. */
export const STENT_TESTING_OPTIONS = Symbol('STENT_TESTING_OPTIONS');
