// Local ESLint rules for the architecture's import rules (ARCHITECTURE.md §2):
//   brixlet/layers    — what each src/ folder may import, resolved from the relative specifier;
//   brixlet/no-cycle  — no import cycle among the repository's own modules.
// Written here rather than taken from eslint-plugin-import-x: that plugin needs a native resolver
// whose per-platform packages break `npm ci` on registries that carry only some platforms.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';

const SRC_FOLDERS = ['common', 'kube', 'accel', 'kvcache', 'chaos', 'agent', 'coordinator', 'mock-engine', 'cli'];

/** What each src folder may import besides itself. */
export const ALLOWED = {
  common: [],
  accel: ['common'],
  kvcache: ['common'],
  kube: ['common'],
  chaos: ['common', 'kube'],
  agent: ['common', 'accel', 'kvcache'],
  coordinator: ['common', 'kube', 'chaos'],
  'mock-engine': ['common', 'kvcache'],
  cli: SRC_FOLDERS,
};

const VENDORS = ['nvml', 'dcmi', 'sim'];

/** Repository-relative path with forward slashes. */
function rel(root, abs) {
  return relative(root, abs).split(sep).join('/');
}

/** Why `fromFile` may not import `target` (both repository-relative), or undefined when it may. */
export function layerViolation(fromFile, target) {
  if (!fromFile.startsWith('src/')) return undefined;
  const top = target.split('/')[0];
  if (['test', 'mocks', 'bench'].includes(top)) return `nothing in src/ imports ${top}/.`;
  if (!target.startsWith('src/')) return undefined;
  const from = fromFile.split('/')[1];
  const to = target.split('/')[1];
  if (from !== to && ALLOWED[from] !== undefined && !ALLOWED[from].includes(to)) {
    const allowed = ['itself', ...ALLOWED[from].map((a) => `src/${a}`)].join(', ');
    return `src/${from} may import only ${allowed} (ARCHITECTURE.md §2); this imports ${target}.`;
  }
  const vendor = /^src\/accel\/([^/]+)\//.exec(target)?.[1];
  if (vendor !== undefined && VENDORS.includes(vendor) && fromFile !== 'src/accel/select.ts' && !fromFile.startsWith(`src/accel/${vendor}/`)) {
    return `only src/accel/select.ts imports src/accel/${vendor}/.`;
  }
  return undefined;
}

/** Resolves a relative specifier the way tsc (NodeNext) does for our sources: `./x.js` → `./x.ts`. */
function resolveSpecifier(file, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const abs = resolve(dirname(file), specifier);
  for (const candidate of [abs.replace(/\.js$/, '.ts'), abs, `${abs}.ts`, `${abs}/index.ts`]) {
    if (existsSync(candidate) && !candidate.endsWith(sep)) return candidate;
  }
  return abs.replace(/\.js$/, '.ts');
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const edgeCache = new Map();

/** Relative runtime imports of a file (type-only imports cannot form a runtime cycle), cached by mtime. */
function edges(file) {
  let stamp;
  try {
    const st = statSync(file);
    stamp = `${st.mtimeMs}:${st.size}`;
  } catch {
    return [];
  }
  const cached = edgeCache.get(file);
  if (cached !== undefined && cached.stamp === stamp) return cached.out;
  const text = readFileSync(file, 'utf8');
  const out = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    if (/^\s*(?:import|export)\s+type\s/.test(m[0].trimStart())) continue;
    const target = resolveSpecifier(file, m[1] ?? m[2]);
    if (target !== undefined && existsSync(target)) out.push(target);
  }
  edgeCache.set(file, { stamp, out });
  return out;
}

/** A path of files from `start` back to `file`, if one exists. */
function cycleThrough(file, start) {
  const seen = new Set();
  const stack = [[start, [start]]];
  while (stack.length > 0) {
    const [node, path] = stack.pop();
    if (node === file) return path;
    if (seen.has(node)) continue;
    seen.add(node);
    for (const next of edges(node)) stack.push([next, [...path, next]]);
  }
  return undefined;
}

function importSources(node) {
  if (node.type === 'ImportDeclaration' && node.importKind === 'type') return undefined;
  if (node.type === 'ExportNamedDeclaration' && node.exportKind === 'type') return undefined;
  return node.source?.type === 'Literal' && typeof node.source.value === 'string' ? node.source : undefined;
}

const layers = {
  meta: { type: 'problem', docs: { description: 'Enforce the src/ layer rules of ARCHITECTURE.md §2.' }, schema: [] },
  create(context) {
    const root = context.cwd;
    const file = rel(root, context.filename);
    const check = (node) => {
      const source = node.source?.type === 'Literal' ? node.source : undefined;
      if (source === undefined || typeof source.value !== 'string') return;
      const target = resolveSpecifier(context.filename, source.value);
      if (target === undefined) return;
      const why = layerViolation(file, rel(root, target));
      if (why !== undefined) context.report({ node: source, message: why });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

const noCycle = {
  meta: { type: 'problem', docs: { description: 'Forbid import cycles among the repository modules.' }, schema: [] },
  create(context) {
    const root = context.cwd;
    const check = (node) => {
      const source = importSources(node);
      if (source === undefined) return;
      const target = resolveSpecifier(context.filename, source.value);
      if (target === undefined || !existsSync(target)) return;
      const path = cycleThrough(context.filename, target);
      if (path !== undefined) {
        context.report({ node: source, message: `import cycle: ${[context.filename, ...path].map((p) => rel(root, p)).join(' → ')}` });
      }
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

export default { meta: { name: 'brixlet' }, rules: { layers, 'no-cycle': noCycle } };
