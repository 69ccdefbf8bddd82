import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EngineInstallError } from '../errors.js';
import { run } from '../exec.js';
import { KAFKA_VERSION, LOG4J_VERSION, SLF4J_VERSION } from '../versions.js';
import { readMarker, writeMarker } from './cache.js';

export interface KafkaInstall {
  /** Directory of jars for `java -cp 'lib/*'`. */
  readonly libDir: string;
  readonly log4jConfig: string;
  readonly version: string;
}

// The broker and its log4j2 binding, resolved by Maven from Maven Central.
const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.twinledger.devnet</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>${LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>${LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>${SLF4J_VERSION}</version></dependency>
  </dependencies>
</project>
`;

const LOG4J2 = `Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        Pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka
        level: INFO
      - name: org.apache.kafka
        level: WARN
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
`;

export interface KafkaInstallInit {
  readonly cacheDir: string;
  readonly log?: (line: string) => void;
}

export async function installKafka(init: KafkaInstallInit): Promise<KafkaInstall> {
  const root = join(init.cacheDir, `kafka-${KAFKA_VERSION}`);
  const libDir = join(root, 'lib');
  const log4jConfig = join(root, 'log4j2.yaml');
  if (readMarker(root)?.['version'] === KAFKA_VERSION && existsSync(libDir)) return { libDir, log4jConfig, version: KAFKA_VERSION };

  init.log?.(`installing Apache Kafka ${KAFKA_VERSION} from Maven Central ...`);
  mkdirSync(root, { recursive: true });
  rmSync(libDir, { recursive: true, force: true });
  writeFileSync(join(root, 'pom.xml'), POM);
  writeFileSync(log4jConfig, LOG4J2);
  const args = ['-B', '-q', 'dependency:copy-dependencies', `-DoutputDirectory=${libDir}`, '-DincludeScope=runtime'];
  try {
    await run('mvn', args, { cwd: root, timeoutMs: 20 * 60_000 });
  } catch (err) {
    const output = (err as { details?: { output?: string } }).details?.output ?? String(err);
    throw new EngineInstallError(`could not install Kafka: \`mvn ${args.join(' ')}\` in ${root} failed:\n${output}`, {
      cause: err,
      details: { command: `mvn ${args.join(' ')}`, output },
    });
  }
  if (!readdirSync(libDir).some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) {
    throw new EngineInstallError(`Maven finished but ${libDir} has no kafka_2.13-${KAFKA_VERSION}.jar`);
  }
  writeMarker(root, { version: KAFKA_VERSION });
  return { libDir, log4jConfig, version: KAFKA_VERSION };
}
