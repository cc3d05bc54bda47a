// Jest reads `testTimeout` only from the global config, not from a project: set the e2e default here.
import { jest } from '@jest/globals';

jest.setTimeout(60_000);
