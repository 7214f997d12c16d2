import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importMockEngine, loadMockEngine, mockEngineModuleUrl } from '../../src/cli/mock-engine-loader.js';

describe('loadMockEngine', () => {
  it('finds the built module next to dist/cli and the source next to src/cli', () => {
    expect(mockEngineModuleUrl('file:///x/dist/cli/mock-engine-loader.js').href).toBe('file:///x/dist/mocks/engine/index.js');
    expect(mockEngineModuleUrl('file:///x/src/cli/mock-engine-loader.ts').href).toBe('file:///x/mocks/engine/index.ts');
  });

  it('loads the module once and starts a working engine', async () => {
    const mod = await loadMockEngine();
    expect(await loadMockEngine()).toBe(mod);
    expect(Object.keys(mod.GPU_PROFILES)).toEqual(['h100', 'a100', 'l20', 'a10']);
    const e = await mod.startMockEngine({ timeScale: Infinity, gpu: 'l20' });
    try {
      expect(e.profile.name).toBe('l20');
      expect((await fetch(`${e.url}/health`)).status).toBe(200);
    } finally {
      await e.close();
    }
  });

  it('turns the mock engine errors into catalog errors', async () => {
    const mod = await loadMockEngine();
    await expect(mod.startMockEngine({ gpu: 'tpu' })).rejects.toMatchObject({ code: 'BRX_ERR_MOCK_ENGINE', message: expect.stringContaining('profiles: h100') });
    await expect(mod.startMockEngines(2, { gpus: ['nope'] })).rejects.toMatchObject({ code: 'BRX_ERR_MOCK_ENGINE' });
    const e = await mod.startMockEngine({ timeScale: Infinity });
    try {
      await expect(mod.startMockEngine({ port: e.port })).rejects.toMatchObject({ code: 'BRX_ERR_HTTP_LISTEN', message: expect.stringContaining('mock engine') });
    } finally {
      await e.close();
    }
  });

  it('says to build when the module is missing or incomplete', async () => {
    await expect(importMockEngine(new URL('file:///nonexistent/mocks/engine/index.js'))).rejects.toMatchObject({ code: 'BRX_ERR_MOCK_ENGINE', message: expect.stringContaining('npm run build') });
    const notIt = new URL(`file://${fileURLToPath(new URL('../../mocks/engine/hash.ts', import.meta.url))}`);
    await expect(importMockEngine(notIt)).rejects.toMatchObject({ code: 'BRX_ERR_MOCK_ENGINE', message: expect.stringContaining('does not export') });
  });
});
