// k6 provides a console but @types/k6 does not declare one (it lives in lib.dom or @types/node, neither
// of which describes k6). Only what the scripts use.
declare const console: {
  log (...args: unknown[]): void
  info (...args: unknown[]): void
  warn (...args: unknown[]): void
  error (...args: unknown[]): void
  debug (...args: unknown[]): void
}
