/**
 * Labels a clinician reads in the UI and in the case record, in the languages the UI speaks: Chinese
 * first (the people on the screen are Chinese clinicians and patients), English too. Kept free of
 * schema code so the browser SDK can use them without bundling the validator.
 */
import type { Role, SiteLevel } from './domain.js';

/** Languages the labels (and the demo page) come in. */
export const LABEL_LANGUAGES = ['zh-CN', 'en'] as const;
export type LabelLanguage = (typeof LABEL_LANGUAGES)[number];

/** English role labels (also what the English case record shows). */
export const ROLE_LABELS: Record<Role, string> = {
  lead_specialist: 'Lead specialist',
  specialist: 'Specialist',
  clinic_doctor: 'Clinic doctor',
  care_team: 'Care team',
  patient: 'Patient',
  observer: 'Observer',
  presenter: 'Presenter',
  viewer: 'Viewer',
};

/** English site-level labels. */
export const SITE_LEVEL_LABELS: Record<SiteLevel, string> = {
  tertiary_hospital: 'Tertiary hospital',
  county_hospital: 'County hospital',
  township_health_centre: 'Township / community health centre',
  village_clinic: 'Village clinic',
};

/** Chinese role labels: the words the users use (see the domain notes, 会诊 vocabulary). */
export const ROLE_LABELS_ZH: Record<Role, string> = {
  lead_specialist: '主诊专家',
  specialist: '会诊专家',
  clinic_doctor: '申请医生',
  care_team: '护理团队',
  patient: '患者',
  observer: '观摩人员',
  presenter: '主讲人',
  viewer: '观众',
};

/** Chinese site-level labels. */
export const SITE_LEVEL_LABELS_ZH: Record<SiteLevel, string> = {
  tertiary_hospital: '三级医院',
  county_hospital: '县级医院',
  township_health_centre: '乡镇卫生院 / 社区卫生服务中心',
  village_clinic: '村卫生室',
};

export interface LabelSet {
  roles: Record<Role, string>;
  siteLevels: Record<SiteLevel, string>;
}

/** Every label by language, for a UI that switches language at run time. */
export const LABELS: Record<LabelLanguage, LabelSet> = {
  'zh-CN': { roles: ROLE_LABELS_ZH, siteLevels: SITE_LEVEL_LABELS_ZH },
  en: { roles: ROLE_LABELS, siteLevels: SITE_LEVEL_LABELS },
};
