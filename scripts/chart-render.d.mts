// Types of scripts/chart-render.mjs.
import type { ChartTools } from './chart-tools.mjs';
export declare const ROOT: string;
export declare const CHART_DIR: string;
export declare const SAMPLE_VALUES: string;
export declare const RENDERED: string;
export declare const SAMPLE_RELEASE: string;
export declare const SAMPLE_NAMESPACE: string;
export declare function helmTemplate(helm: string, kubeVersion: string, valuesFile: string | undefined, release?: string, namespace?: string): string;
export declare function renderSample(tools?: ChartTools): string;
