export * from './ai-info.ts';
export * from './analysis.ts';
export * from './event-log.ts';
export * from './keys.ts';
export * from './objects.ts';
export * from './redis.ts';
export * from './reviews.ts';
export * from './s3.ts';
