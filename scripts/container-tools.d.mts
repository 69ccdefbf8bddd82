// Types of scripts/container-tools.mjs (plain JavaScript so it runs before any build).
export declare const ROOT: string;
export declare const BASE_IMAGE: string;
export declare const NODE_UID: number;
export declare const IMAGES: Readonly<Record<string, { readonly dockerfile: string; readonly target: string | undefined }>>;
export declare function contextDir(): string;
export declare function imageNames(): string[];
export declare function imageVersion(): string;
export declare function imageTag(name: string): string;
export declare function podmanEnv(): NodeJS.ProcessEnv;
/** Runs podman with the project's containers.conf; returns stdout, throws on a non-zero exit. */
export declare function podman(args: readonly string[], opts?: object): string;
export interface PodmanService {
  /** unix:///… socket of Podman's Docker-compatible API, for DOCKER_HOST. */
  readonly dockerHost: string;
  readonly socketPath: string;
  /** Whether this call started the service (stop() stops only such a service). */
  readonly started: boolean;
  stop(): Promise<void>;
}
export declare function ensurePodman(): Promise<PodmanService>;
export interface BaseImage {
  readonly image: string;
  readonly key: string;
  readonly built: boolean;
  readonly seconds: number;
  readonly debootstrapSeconds?: number;
}
export declare function ensureBaseImage(): BaseImage;
export declare function buildImages(names?: readonly string[], opts?: { verbose?: boolean; force?: boolean }): { name: string; tag: string; built: boolean; seconds: number }[];
