/** A TypeScript preload (`node --import`), as a profiler or monitor would be: it must not reach the upload thread. */
export const preloaded: boolean = true;
