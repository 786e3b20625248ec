import type { DescService } from "@bufbuild/protobuf";
import type { ListSagasQuery, SagaPage } from "./saga-admin.ts";
import type { SagaStepInterceptor } from "./saga-step-call.ts";
import type { SagaView } from "./saga-view.ts";

/**
 * What an operator may do with a service's sagas (the host's admin API serves it as JSON). A
 * `SagaOrchestrator` is one: a service hands its orchestrator over as `sagas`.
 */
export interface SagaAdmin {
  /** Sagas newest first; `cursor` continues a previous page. */
  list(query: ListSagasQuery): Promise<SagaPage>;
  /** One saga with its step timeline, or undefined. */
  get(sagaId: string): Promise<SagaView | undefined>;
  /** Resumes a saga parked as NEEDS_ATTENTION. */
  retry(sagaId: string): Promise<void>;
}

/*
 * What sagas add to core's service port: the port itself knows no sagas (core is below this
 * package), so the fields are declared here, merged into core's interfaces wherever
 * `@plexus/saga` is imported (the host and the services that orchestrate).
 */
declare module "@plexus/core" {
  interface ServiceEnv {
    /**
     * What runs around each try of the service's saga steps (the host's step spans): pass them to
     * the orchestrator (`createSagaOrchestrator({ interceptors })`). Set by a host; `undefined`
     * otherwise.
     */
    readonly sagaStepInterceptors?: readonly SagaStepInterceptor[];
  }

  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a merged declaration repeats core's type parameters, names included
  interface ServiceInstance<S extends DescService> {
    /** The sagas this service orchestrates, for the admin API. */
    readonly sagas?: SagaAdmin;
  }
}
