/** A MARC 21 record as it is held in memory: text already decoded to Unicode (NFC). */
export interface MarcRecord {
  /** The 24-character leader. */
  leader: string;
  fields: MarcField[];
}

export type MarcField = ControlField | DataField;

/** A control field (tags 001–009): a tag and a value, no indicators or subfields. */
export interface ControlField {
  tag: string;
  value: string;
}

/** A data field (tags 010–999): two indicators and an ordered list of subfields. */
export interface DataField {
  tag: string;
  ind1: string;
  ind2: string;
  subfields: Subfield[];
}

export interface Subfield {
  code: string;
  value: string;
}

/** True when the field is a control field (has a value and no subfields). */
export function isControlField(field: MarcField): field is ControlField {
  return "value" in field;
}
