/** The people of the test consultation, as their hospital tokens would name them. */
import type { ManifestParticipant } from '../../../recordings/index.js';

export const wang: ManifestParticipant = {
  participantId: 'p-wang',
  identity: 'staff-10234',
  name: 'Dr. Wang Fang',
  role: 'lead_specialist',
  siteId: 'prov-ch',
  siteName: 'Provincial Cancer Hospital',
  siteLevel: 'tertiary_hospital',
};

export const li: ManifestParticipant = {
  participantId: 'p-li',
  identity: 'staff-55012',
  name: 'Dr. Li Ming',
  role: 'clinic_doctor',
  siteId: 'ap-ch',
  siteName: 'Anping County Hospital',
  siteLevel: 'county_hospital',
};
