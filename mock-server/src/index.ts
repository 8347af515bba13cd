export { buildApp, type AppDeps } from './app.ts'
export { resolveConfig, DEFAULT_CONFIG, ConfigError, type MockConfig, type MockConfigInput } from './config.ts'
export { ApiError, ERROR_CODES, type ErrorCode } from './errors.ts'
export { validateFaultPlan, type FaultPlanInput, type FaultSpec } from './domain/fault-plan.ts'
