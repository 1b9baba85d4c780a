// Builds what the integration tests run but the repository does not hold, before they start
// (a first build takes minutes, longer than a test hook may wait).
import { versitygwBinary } from './s3-server.ts';

console.log(`versitygw: ${await versitygwBinary()}`);
