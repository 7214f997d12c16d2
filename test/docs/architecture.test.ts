// The README's picture and links hold: docs/architecture.svg is well-formed XML (checked by a small
// strict tokenizer, so no dependency) that GitHub can render, and every relative link or image in the
// README and in docs/*.md points at a file that exists, and at a heading that exists when it names one.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmePath, repoRoot } from '../helpers/repo.js';

interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlElement[];
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const ENTITY = /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9A-Fa-f]+);/;

/** Parses an XML document strictly enough to refuse what a browser's XML parser refuses; throws naming the offset. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${i}`);
  };
  const checkEntities = (s: string, at: number) => {
    for (let k = s.indexOf('&'); k >= 0; k = s.indexOf('&', k + 1)) {
      if (!ENTITY.test(s.slice(k))) {
        i = at + k;
        fail('bare & (not an entity)');
      }
    }
  };
  if (text.startsWith('\uFEFF')) i = 1;
  if (text.startsWith('<?xml', i)) {
    const end = text.indexOf('?>', i);
    if (end < 0) fail('unterminated XML declaration');
    i = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = text.slice(i, lt < 0 ? text.length : lt);
    if (stack.length === 0 && chunk.trim() !== '') fail('text outside the root element');
    if (chunk.includes('>') && stack.length === 0) fail('stray >');
    checkEntities(chunk, i);
    if (lt < 0) break;
    i = lt;
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) fail('unterminated comment');
      if (text.slice(i + 4, end).includes('--')) fail('-- inside a comment');
      i = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) fail('CDATA outside the root element');
      const end = text.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA');
      i = end + 3;
      continue;
    }
    if (text.startsWith('<!', i) || text.startsWith('<?', i)) fail('declaration or processing instruction inside the document');
    if (text.startsWith('</', i)) {
      const name = NAME.exec(text.slice(i + 2))?.[0] ?? fail('bad closing tag');
      i += 2 + name.length;
      while (/\s/.test(text[i] ?? '')) i++;
      if (text[i] !== '>') fail(`bad closing tag </${name}`);
      i++;
      const open = stack.pop() ?? fail(`closing </${name}> without an open element`);
      if (open.name !== name) fail(`</${name}> closes <${open.name}>`);
      continue;
    }
    const name = NAME.exec(text.slice(i + 1))?.[0] ?? fail('bad tag name');
    i += 1 + name.length;
    const el: XmlElement = { name, attrs: new Map(), children: [] };
    for (;;) {
      const ws = /^\s*/.exec(text.slice(i))?.[0].length ?? 0;
      i += ws;
      if (text.startsWith('/>', i) || text[i] === '>') break;
      if (ws === 0) fail(`attributes of <${name}> need white space between them`);
      const attr = NAME.exec(text.slice(i))?.[0] ?? fail(`bad attribute in <${name}>`);
      i += attr.length;
      const eq = /^\s*=\s*/.exec(text.slice(i))?.[0] ?? fail(`attribute ${attr} without a value`);
      i += eq.length;
      const quote = text[i];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attr} value not quoted`);
      const end = text.indexOf(quote as string, i + 1);
      if (end < 0) fail(`unterminated value of ${attr}`);
      const value = text.slice(i + 1, end);
      if (value.includes('<')) fail(`< in the value of ${attr}`);
      checkEntities(value, i + 1);
      if (el.attrs.has(attr)) fail(`duplicate attribute ${attr} in <${name}>`);
      el.attrs.set(attr, value);
      i = end + 1;
    }
    const parent = stack.at(-1);
    if (parent) parent.children.push(el);
    else if (root) fail('a second root element');
    else root = el;
    if (text.startsWith('/>', i)) i += 2;
    else {
      i += 1;
      stack.push(el);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.map((e) => e.name).join('>, <')}>`);
  return root ?? fail('no root element');
}

function* walk(el: XmlElement): Generator<XmlElement> {
  yield el;
  for (const c of el.children) yield* walk(c);
}

/** GitHub's heading anchor: lower case, punctuation dropped (letters, digits, _ and - stay), spaces to -. */
export function slug(heading: string): string {
  const text = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
  return text.trim().toLowerCase().replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
}

interface Link {
  line: number;
  target: string;
}

/** Headings (as anchors, duplicates numbered like GitHub's) and links outside code. */
export function scanMarkdown(text: string): { anchors: Set<string>; links: Link[] } {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const links: Link[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((raw, n) => {
    const f = /^\s*(```+|~~~+)/.exec(raw)?.[1];
    if (f !== undefined) {
      if (fence === undefined) fence = f;
      else if (f.startsWith(fence)) fence = undefined;
      return;
    }
    if (fence !== undefined) return;
    const line = raw.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, '');
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (h) {
      const base = slug(h[1] as string);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ line: n + 1, target: m[1] as string });
    for (const m of line.matchAll(/<img\s[^>]*src="([^"]+)"/g)) links.push({ line: n + 1, target: m[1] as string });
  });
  return { anchors, links };
}

const docsDir = join(repoRoot, 'docs');
const pages = [readmePath, ...readdirSync(docsDir).filter((f) => f.endsWith('.md')).map((f) => join(docsDir, f))];

describe('docs/architecture.svg', () => {
  const svgPath = join(docsDir, 'architecture.svg');
  const text = readFileSync(svgPath, 'utf8');

  it('is well-formed XML with one <svg> root in the SVG namespace, sized by a viewBox', () => {
    const root = parseXml(text);
    expect(root.name).toBe('svg');
    expect(root.attrs.get('xmlns')).toBe('http://www.w3.org/2000/svg');
    const box = (root.attrs.get('viewBox') ?? '').split(/[\s,]+/).map(Number);
    expect(box).toHaveLength(4);
    // Wide enough for the boxes' text, narrow enough that GitHub's ~880 px column scales it by ≥ 0.7.
    expect(box[2]).toBeGreaterThanOrEqual(800);
    expect(box[2]).toBeLessThanOrEqual(1260);
    expect(root.children.some((c) => c.name === 'title')).toBe(true);
  });

  it('renders as an image on GitHub: no scripts, no foreign content, no external references, every url(#id) defined', () => {
    const elements = [...walk(parseXml(text))];
    expect(elements.filter((e) => ['script', 'foreignObject', 'iframe', 'image'].includes(e.name)).map((e) => e.name)).toEqual([]);
    for (const e of elements) {
      for (const [k, v] of e.attrs) {
        expect(k.startsWith('on'), `event handler ${k} on <${e.name}>`).toBe(false);
        if (k === 'href' || k === 'xlink:href') expect(v.startsWith('#'), `${k}=${v}`).toBe(true);
      }
    }
    const ids = new Set(elements.map((e) => e.attrs.get('id')).filter((id): id is string => id !== undefined));
    const refs = [...text.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1] as string);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((r) => !ids.has(r))).toEqual([]);
    expect(text).not.toMatch(/https?:\/\/(?!www\.w3\.org\/)/);
  });

  it('uses no text smaller than 11 px', () => {
    const sizes = [...text.matchAll(/font-size\s*[:=]\s*"?([\d.]+)/g)].map((m) => Number(m[1]));
    expect(sizes.length).toBeGreaterThan(0);
    expect(sizes.filter((s) => s < 11)).toEqual([]);
  });

  it('is the picture the README shows', () => {
    expect(readFileSync(readmePath, 'utf8').includes('![architecture](docs/architecture.svg)')).toBe(true);
  });
});

describe('the XML check', () => {
  it.each([
    ['<svg><g></svg>', /closes <g>/],
    ['<svg><g></g>', /unclosed <svg>/],
    ['<svg a="1" a="2"/>', /duplicate attribute/],
    ['<svg a=1/>', /not quoted/],
    ['<svg>a & b</svg>', /bare &/],
    ['<svg/><svg/>', /second root/],
    ['<svg><!-- a -- b --></svg>', /-- inside a comment/],
    ['<svg x="a"y="b"/>', /white space/],
  ])('refuses %s', (xml, why) => {
    expect(() => parseXml(xml)).toThrow(why);
  });

  it('accepts entities, comments, CDATA and a declaration', () => {
    const root = parseXml('<?xml version="1.0"?>\n<!-- c --><svg a="&amp;&#38;&#x26;"><![CDATA[<x>]]><t>&lt;</t></svg>');
    expect(root.children.map((c) => c.name)).toEqual(['t']);
  });
});

describe('README and docs links', () => {
  it('takes anchors and links as GitHub renders them', () => {
    expect(slug('Pool across nodes — membership')).toBe('pool-across-nodes--membership');
    expect(slug('Profiling: `brixlet profile`')).toBe('profiling-brixlet-profile');
    const { anchors, links } = scanMarkdown('# A\n## A\n```\n[x](nope.md)\n```\nsee [b](b.md#c) and `[y](z.md)` ![i](i.svg)\n');
    expect([...anchors]).toEqual(['a', 'a-1']);
    expect(links.map((l) => l.target)).toEqual(['b.md#c', 'i.svg']);
  });

  it.each(pages.map((p) => [relative(repoRoot, p), p]))('%s: every relative link and image exists (and its #anchor)', (_name, page) => {
    const { links } = scanMarkdown(readFileSync(page, 'utf8'));
    const broken: string[] = [];
    for (const { line, target } of links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [pathPart = '', anchor] = target.split('#', 2);
      const file = pathPart === '' ? page : resolve(dirname(page), decodeURIComponent(pathPart));
      if (!file.startsWith(repoRoot)) broken.push(`${line}: ${target} leaves the repository`);
      else if (!existsSync(file)) broken.push(`${line}: ${target} does not exist`);
      else if (anchor !== undefined && anchor !== '' && file.endsWith('.md') && !scanMarkdown(readFileSync(file, 'utf8')).anchors.has(anchor)) {
        broken.push(`${line}: ${target} has no heading #${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
