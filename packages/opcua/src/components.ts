/**
 * What a device reports about one of its parts, in the information model both sides of the
 * OPC UA link share: the plant simulator serves it, the device agent's adapter reads it.
 */
export interface DeviceComponent {
  /** AML InternalElement ID of the part (unique per twin). */
  readonly componentId: string;
  /** `sensor`, `actuator`, `unit` (a structural part) ... only sensors are synchronized. */
  readonly kind: string;
  /** AML `Name` of the element. */
  readonly name: string;
  /** AML ID of the element the part sits in (the filler for its sensors). */
  readonly parentId: string;
  readonly measuredQuantity?: string;
  readonly unit?: string;
  readonly expectedMin?: number;
  readonly expectedMax?: number;
  /** Manufacturer data the device knows about the part, carried into the AML. */
  readonly manufacturer?: string;
  readonly serialNumber?: string;
  /** A device-assigned identity of the physical part (OPC UA property InstanceId), if any. */
  readonly instanceId?: string;
  /**
   * false when the device lists the part but reading it fails: only `componentId` is then
   * known. Such a part is reported unreachable, never taken for removed.
   */
  readonly reachable?: boolean;
}
