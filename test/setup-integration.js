// Integration suites start real engines; their hooks need more than Jest's 5 s default.
import { jest } from '@jest/globals';
jest.setTimeout(180_000);
