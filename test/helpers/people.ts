/**
 * The clinicians of the browser tests: a consultation between three sites — the provincial
 * tertiary hospital's lead specialist, a county hospital's requesting doctor and a township health
 * centre's nurse — as their hospital tokens (and the SDK's join) name them.
 */
import type { SiteLevel } from '../../signaling/protocol/index.js';

export interface Clinician {
  identity: string;
  name: string;
  role: 'lead_specialist' | 'clinic_doctor' | 'care_team';
  site: { id: string; name: string; level: SiteLevel };
}

export const WANG_FANG: Clinician = {
  identity: 'wang-fang',
  name: '王芳',
  role: 'lead_specialist',
  site: { id: 'slzl', name: '省肿瘤医院', level: 'tertiary_hospital' },
};
export const ZHAO_LEI: Clinician = {
  identity: 'zhao-lei',
  name: '赵磊',
  role: 'clinic_doctor',
  site: { id: 'apx', name: '安平县医院', level: 'county_hospital' },
};
export const MA_LI: Clinician = {
  identity: 'ma-li',
  name: '马丽',
  role: 'care_team',
  site: { id: 'hpx', name: '和平乡卫生院', level: 'township_health_centre' },
};

/** The three sites' clinicians of a consultation, lead first. */
export const THREE_SITES = [WANG_FANG, ZHAO_LEI, MA_LI] as const;
