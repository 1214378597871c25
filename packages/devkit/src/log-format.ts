const LEVEL_COLOURS: Record<string, string> = { trace: '90', debug: '90', info: '32', warn: '33', error: '31', fatal: '35' };
const SERVICE_COLOURS = ['36', '35', '34', '33', '32', '96', '94'];
// The span id helps a machine, not a reader: the trace id is enough to find the trace.
const HIDDEN = new Set(['level', 'time', 'service', 'msg', 'pid', 'hostname', 'span_id']);

/** Turns one JSON log line of a service into `12:00:01 INFO  [order] message key=value`; other lines pass through. */
export function formatLogLine(service: string, line: string, colour: boolean, index = 0): string {
  const c = (code: string, text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const prefix = c(SERVICE_COLOURS[index % SERVICE_COLOURS.length]!, `[${service}]`.padEnd(14));
  if (!line.startsWith('{')) return `${prefix} ${line}`;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const level = typeof entry.level === 'string' ? entry.level : 'info';
    const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
    const extras = Object.entries(entry)
      .filter(([k]) => !HIDDEN.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${c('90', time)} ${c(LEVEL_COLOURS[level] ?? '0', level.toUpperCase().padEnd(5))} ${prefix} ${typeof entry.msg === 'string' ? entry.msg : ''}${extras ? ` ${c('90', extras)}` : ''}`;
  } catch {
    return `${prefix} ${line}`;
  }
}
