// Where the test files that pick their own ports import it from; the helper lives with the local stack.
export { freePort } from '../../src/apps/dev-stack/ports';
