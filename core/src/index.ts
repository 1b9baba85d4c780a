export * from './docx/inspect.ts';
export * from './docx/sections.ts';
export * from './env.ts';
export * from './errors.ts';
export * from './jobs.ts';
export * from './protocol.ts';
export * from './review.ts';
export * from './schemas.ts';
