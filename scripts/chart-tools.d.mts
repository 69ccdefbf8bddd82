// Types of scripts/chart-tools.mjs (plain JavaScript so it runs before any build).
export declare const HELM_VERSION: string;
export declare const KUBERNETES_VALIDATE_VERSION: string;
export declare const KUBE_VERSION: string;
export interface ChartTools {
  /** Path of the pinned helm binary. */
  readonly helm: string;
  /** Path of the kubernetes-validate entry point in its venv. */
  readonly kubernetesValidate: string;
  /** Kubernetes version to render (`--kube-version`) and validate for. */
  readonly kubeVersion: string;
}
export declare function cacheDir(): string;
export declare function ensureChartTools(): ChartTools;
