/** A small parser for the text the renderer writes, so tests assert on labels and values, not substrings. */

export interface Sample {
  readonly name: string;
  readonly labels: [string, string][];
  readonly value: string;
}

export interface Parsed {
  readonly samples: Sample[];
  readonly types: Map<string, string>;
  readonly help: Map<string, string>;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})? (\S+)$/;

function parseLabels(body: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < body.length) {
    const eq = body.indexOf('="', i);
    if (eq < 0) throw new Error(`bad labels: ${body}`);
    const name = body.slice(i, eq);
    let j = eq + 2;
    let value = '';
    while (body[j] !== '"') {
      if (body[j] === '\\') {
        const next = body[j + 1];
        value += next === 'n' ? '\n' : next;
        j += 2;
      } else {
        value += body[j];
        j += 1;
      }
      if (j > body.length) throw new Error(`unterminated label value: ${body}`);
    }
    out.push([name, value]);
    i = body[j + 1] === ',' ? j + 2 : j + 1;
  }
  return out;
}

export function parseExposition(text: string): Parsed {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line.startsWith('# HELP ')) {
      const rest = line.slice('# HELP '.length);
      const sp = rest.indexOf(' ');
      help.set(rest.slice(0, sp), rest.slice(sp + 1));
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    samples.push({ name: m[1]!, labels: m[3] === undefined ? [] : parseLabels(m[3]), value: m[4]! });
  }
  return { samples, types, help };
}

export function samplesOf(text: string, name: string): Sample[] {
  return parseExposition(text).samples.filter((s) => s.name === name);
}
