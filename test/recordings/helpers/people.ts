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

export const wangFang: ManifestParticipant = {
  participantId: 'p-wangfang',
  identity: 'staff-30871',
  name: '王芳',
  role: 'lead_specialist',
  siteId: 'prov-zl',
  siteName: '省肿瘤医院',
  siteLevel: 'tertiary_hospital',
};

export const zhaoLei: ManifestParticipant = {
  participantId: 'p-zhaolei',
  identity: 'staff-61204',
  name: '赵磊',
  role: 'clinic_doctor',
  siteId: 'anping-xy',
  siteName: '安平县医院',
  siteLevel: 'county_hospital',
};

export const maLi: ManifestParticipant = {
  participantId: 'p-mali',
  identity: 'village-0093',
  name: '马丽',
  role: 'clinic_doctor',
  siteId: 'hongqi-wss',
  siteName: '红旗村卫生室',
  siteLevel: 'village_clinic',
};
