-- The scoring job of `evidex score` written in DuckDB SQL, as far as SQL
-- expresses model 3.0 (docs/scoring.md, evidex-score-3.0, default
-- configuration), for bench/compare.py. The input is `src` (a view over
-- the file, made by compare.py). Same as evidex:
--   * studies per cell (study_id, else the record) and outcome domain
--     (the outcome_domain column, else 'other'); a study's appraisal from its
--     best design and risk of bias (section 4): appraised (controlled, low or
--     some concerns), not assessed (controlled, no judgement), high risk,
--     uncontrolled; eligible = appraised or not assessed
--   * per study and domain, one composite effect per measure (section 2;
--     see below for the within-study correlation) and the reviewers'
--     standing where it has no effect (section 3)
--   * per domain, the synthesis of the eligible studies' composites when
--     they share one measure: random effects, normal (Wald) 95% CI
--     (section 6; DerSimonian-Laird tau^2, see below), its standing against
--     the band of unimportant effects (SMD 0.10, log ratio 0.18, RD 0.02)
--   * per domain, the verdict rules of section 7 that rest on standings and
--     counts: credible harm (pooled, or an appraised study's primary
--     finding), mixed, effective (>= 2 studies behind the benefit, one
--     randomised; not on risk factors), promising, ineffective, prudent,
--     needs more research; the headline domain (section 9: harm first,
--     then conclusive, in tier order); the score Phi(estimate / se) of the
--     headline synthesis (section 12; Phi by the Abramowitz-Stegun 26.2.17
--     approximation, |error| < 7.5e-8)
-- Left out (not expressible in plain SQL, or not worth it here): row
-- validation and its messages, outcome-domain inference from text,
-- direction inference and cluster correction, composites with the assumed
-- within-study correlation (rho = 0.5; inverse-variance within a study
-- here), REML (DerSimonian-Laird here: REML needs iteration), the modified
-- HKSJ and prediction intervals, GRADE certainty (risk of bias shares,
-- inconsistency, imprecision with the optimal information size, Egger's
-- test), the appraised-only sensitivity synthesis, "against" estimates,
-- borrowing across income settings, robustness draws, leave-one-out
-- fragility and the flip, record weights and the consensus rating.
with r as (
  select
    intervention, target_group, income_setting,
    coalesce(cast(study_id as varchar), cast(record_id as varchar)) as study,
    coalesce(outcome_domain_col, 'other') as domain,
    lower(rating) as rating,
    try_cast(effect_size as double) as y,
    try_cast(se as double) as se,
    upper(measure) as measure,
    lower(design) in ('systematic_review', 'rct', 'quasi_experimental') as controlled,
    lower(design) in ('systematic_review', 'rct') as randomised,
    lower(risk_of_bias) as rob
  from src
),
-- A study's appraisal (its best design; the better risk of bias on ties).
sa as (
  select intervention, target_group, income_setting, study,
    bool_or(randomised) as randomised,
    case
      when bool_or(controlled and rob in ('low', 'some_concerns')) then 'appraised'
      when bool_or(controlled and (rob is null or rob = '')) then 'not_assessed'
      when bool_or(controlled) then 'high_risk'
      else 'uncontrolled' end as appraisal
  from r group by all
),
-- Per study and domain: the composite effect (one measure) or the ratings.
sd as (
  select intervention, target_group, income_setting, study, domain,
    count(distinct measure) filter (where se > 0) as n_measures,
    any_value(measure) filter (where se > 0) as measure,
    sum(y / (se * se)) filter (where se > 0) / sum(1 / (se * se)) filter (where se > 0) as cy,
    1 / sum(1 / (se * se)) filter (where se > 0) as cv,
    bool_or(rating in ('effective', 'promising')) as r_benefit,
    bool_or(rating = 'ineffective') as r_null,
    bool_or(rating = 'harmful') as r_harm,
    bool_or(rating = 'prudent') as r_supp
  from r group by all
),
st as (
  select sd.*, sa.randomised, sa.appraisal,
    sa.appraisal in ('appraised', 'not_assessed') as eligible,
    case sd.measure when 'SMD' then 0.10 when 'RR' then 0.18 when 'OR' then 0.18 when 'RD' then 0.02 end as delta,
    case
      when cv is null then
        case when r_harm then 'harm' when r_benefit and not r_null then 'benefit'
             when r_null and not r_benefit then 'null' when r_supp then 'supportive' else 'inconclusive' end
      when cy - 1.959964 * sqrt(cv) > 0 then 'benefit'
      when cy + 1.959964 * sqrt(cv) < 0 then 'harm'
      else 'effect_inconclusive' end as own
  from sd join sa using (intervention, target_group, income_setting, study)
),
-- DerSimonian-Laird synthesis of the eligible studies' composites.
p as (
  select intervention, target_group, income_setting, domain,
    count(*) as k, count(distinct measure) as n_measures, any_value(delta) as delta,
    sum(1 / cv) as sw, sum(cy / cv) as swy, sum(cy * cy / cv) as swyy, sum(1 / (cv * cv)) as sw2
  from st where eligible and cv is not null and n_measures = 1 group by all
),
tau as (
  select *, case when k > 1 then greatest(0, ((swyy - swy * swy / sw) - (k - 1)) / (sw - sw2 / sw)) else 0 end as tau2
  from p where n_measures = 1
),
syn as (
  select t.intervention, t.target_group, t.income_setting, t.domain, t.k, t.delta,
    sum(s.cy / (s.cv + t.tau2)) / sum(1 / (s.cv + t.tau2)) as est,
    sqrt(1 / sum(1 / (s.cv + t.tau2))) as se,
    count(*) filter (where s.randomised) as k_randomised,
    bool_and(s.appraisal = 'appraised') as all_appraised
  from tau t join st s using (intervention, target_group, income_setting, domain)
  where s.eligible and s.cv is not null and s.n_measures = 1 group by all
),
syn_st as (
  select *, est - 1.959964 * se as lo, est + 1.959964 * se as hi,
    case
      when est - 1.959964 * se > 0 then 'benefit'
      when est + 1.959964 * se < 0 then 'harm'
      when delta > 0 and est - 1.959964 * se > -delta and est + 1.959964 * se < delta then 'null'
      else 'inconclusive' end as standing
  from syn
),
-- Studies counted on their own: eligible ones without a pooled effect.
u as (
  select intervention, target_group, income_setting, domain,
    count(*) filter (where eligible and cv is null and own = 'benefit') as u_benefit,
    count(*) filter (where eligible and cv is null and own = 'benefit' and randomised) as u_benefit_rand,
    count(*) filter (where eligible and cv is null and own = 'null') as u_null,
    count(*) filter (where eligible and cv is null and own = 'harm') as u_harm,
    count(*) filter (where eligible and cv is null and own = 'inconclusive') as u_inconclusive,
    bool_or(appraisal = 'appraised' and (r_harm or own = 'harm')
            and domain in ('violence', 'behaviour')) as credible_harm,
    bool_or(own in ('benefit', 'supportive') and not eligible) or bool_or(eligible and own = 'supportive') as support,
    count(*) as n_studies
  from st group by all
),
dv as (
  select u.*, s.k, s.est, s.se, s.lo, s.hi, s.standing, s.k_randomised,
    coalesce(s.standing = 'benefit', false) or u_benefit > 0 as benefit,
    coalesce(s.standing = 'null', false) or (u_null > 0 and coalesce(s.standing, '') <> 'inconclusive') as nul,
    coalesce(s.standing = 'harm', false) or u_harm > 0 as harm,
    (case when s.standing = 'benefit' then s.k else 0 end) + u_benefit as n_benefit,
    (case when s.standing = 'benefit' then s.k_randomised else 0 end) + u_benefit_rand as n_randomised,
    coalesce(s.standing = 'harm' and s.k >= 2 and s.all_appraised and u.domain in ('violence', 'behaviour'), false)
      as pooled_harm,
    case u.domain when 'violence' then 0 when 'behaviour' then 1 when 'other' then 2 else 3 end as tier
  from u left join syn_st s using (intervention, target_group, income_setting, domain)
),
verdict as (
  select *,
    case
      when credible_harm or pooled_harm then 'ineffective'
      when benefit and (nul or harm) then 'needs_research'
      when benefit and domain <> 'risk_factor' and n_benefit >= 2 and n_randomised >= 1 then 'effective'
      when benefit then 'promising'
      when nul then 'ineffective'
      when harm or u_inconclusive > 0 or standing is not null then 'needs_research'
      when support then 'prudent'
      else 'needs_research' end as category,
    credible_harm or pooled_harm as harm_flag,
    credible_harm or pooled_harm or (benefit and (nul or harm)) or benefit or nul as conclusive
  from dv
),
headline as (
  select * from (
    select *, row_number() over (
      partition by intervention, target_group, income_setting
      order by not harm_flag, not conclusive, tier) as pick
    from verdict) where pick = 1
)
select intervention, target_group, income_setting, domain, category, harm_flag, n_studies, k, est, se, lo, hi,
  -- Phi(est / se), Abramowitz & Stegun 26.2.17.
  case when se > 0 then (
    with_z.phi
  ) else 0.5 end as score
from headline,
  lateral (
    select case when z >= 0 then 1 - t_pdf else t_pdf end as phi
    from (
      select z, exp(-z * z / 2) / sqrt(2 * pi())
        * (0.319381530 * t - 0.356563782 * t ^ 2 + 1.781477937 * t ^ 3 - 1.821255978 * t ^ 4 + 1.330274429 * t ^ 5)
        as t_pdf
      from (select z, 1 / (1 + 0.2316419 * abs(z)) as t from (select coalesce(est / nullif(se, 0), 0) as z))
    )
  ) as with_z
order by all
