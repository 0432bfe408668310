/**
 * Labels a clinician reads in the UI and in the case record. Kept free of schema code so the browser
 * SDK can use them without bundling the validator.
 */
import type { Role, SiteLevel } from './domain.js';

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

export const SITE_LEVEL_LABELS: Record<SiteLevel, string> = {
  tertiary_hospital: 'Tertiary hospital',
  county_hospital: 'County hospital',
  township_health_centre: 'Township / community health centre',
  village_clinic: 'Village clinic',
};
