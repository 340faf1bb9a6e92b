type Fields = Record<string, unknown>;

function write(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Fields): void {
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields });
  if (level === 'error' || level === 'warn') console.error(line);
  else console.log(line);
}

/** Structured JSON logs, one object a line, as CloudWatch Logs Insights reads them. */
export const logger = {
  debug: (message: string, fields?: Fields) => {
    if (process.env.LOG_LEVEL === 'debug') write('debug', message, fields);
  },
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};

export function describeError(error: unknown): Fields {
  return error instanceof Error ? { error: error.name, cause: error.message } : { error: String(error) };
}
