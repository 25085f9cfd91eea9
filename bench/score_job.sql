-- The scoring job of `evidex score` written in DuckDB SQL, as far as SQL
-- expresses the model (docs/scoring.md, evidex-score-2.0, default
-- configuration), for bench/compare.py. The input is `src` (a view over
-- the file, made by compare.py). Same as evidex:
--   * record weight = design x risk of bias x sample x age x unrated (section 2)
--   * studies per cell (study_id, else the record), standing per domain from
--     ratings by the WWC combination rule, else from the effect's 95% CI
--     (section 3); rigorous = RCT/quasi/systematic review with low or some
--     concerns risk of bias; study weight = mean weight of its findings
--   * per-domain verdict rules 3-8 (mixed, effective, promising,
--     ineffective, prudent, needs research) on rigorous counts and weights,
--     dominance factor 2 (section 4); headline = the highest domain resting
--     on rigorous evidence (section 5); score m (section 6); per-cell
--     DerSimonian-Laird pooled effect of study effects (section 8 uses REML)
-- Left out (not expressible in plain SQL, or not worth it here): row
-- validation and messages, outcome-domain inference from text (every row
-- without outcome_domain is 'other'), composites with within-study
-- correlation (inverse-variance within a study instead), REML and
-- Knapp-Hartung, the harm and pooled-benefit rules, borrowing across income
-- settings, Beta quantiles of the band, certainty, robustness draws.
with r as (
  select
    intervention, target_group, income_setting,
    coalesce(cast(study_id as varchar), cast(record_id as varchar)) as study,
    coalesce(outcome_domain_col, 'other') as domain,
    lower(rating) as rating,
    try_cast(effect_size as double) as y,
    try_cast(se as double) as se,
    case lower(design)
      when 'systematic_review' then 1.0 when 'rct' then 1.0 when 'quasi_experimental' then 0.7
      when 'pre_post' then 0.4 when 'observational' then 0.35 when 'qualitative' then 0.2
      when 'expert_opinion' then 0.1 else 0.3 end
    * case lower(risk_of_bias) when 'low' then 1.0 when 'some_concerns' then 0.8 when 'high' then 0.5 else 0.6 end
    * case when try_cast(sample_size as double) is null then 0.5
           else least(1.25, ln(1 + try_cast(sample_size as double)) / ln(401)) end
    * case when try_cast(year as integer) is null then 0.75
           else pow(0.5, greatest(0, (select max(try_cast(year as integer)) from src) - try_cast(year as integer)) / 20.0) end
    * case when rating is null or rating = '' then 0.5 else 1.0 end as w,
    lower(design) in ('systematic_review', 'rct', 'quasi_experimental')
      and lower(risk_of_bias) in ('low', 'some_concerns') as rigorous_row
  from src
),
-- Standing per (cell, study, domain).
s as (
  select intervention, target_group, income_setting, study, domain,
    avg(w) as w,
    bool_or(rigorous_row) as rigorous,
    count(rating) filter (where rating <> '') as n_rated,
    bool_or(rating in ('effective', 'promising')) as pos,
    bool_or(rating = 'ineffective') as nul,
    bool_or(rating = 'harmful') as harm,
    bool_or(rating = 'prudent') as supp,
    max(case rating when 'effective' then 1.0 when 'promising' then 0.8 end) as best,
    sum(y / (se * se)) filter (where se > 0) / sum(1 / (se * se)) filter (where se > 0) as ey,
    sqrt(1 / sum(1 / (se * se)) filter (where se > 0)) as ese
  from r group by all
),
st as (
  select *,
    case
      when n_rated > 0 then
        case when harm then 'harmful' when pos and not nul then 'positive' when nul and not pos then 'null'
             when pos and nul then 'inconclusive' when supp then 'supportive' else 'inconclusive' end
      when ey is null then 'inconclusive'
      when ey - 1.959964 * ese > 0 then 'positive'
      when ey + 1.959964 * ese < 0 then 'negative'
      else 'null' end as standing
  from s
),
v as (
  select *,
    case standing
      when 'positive' then coalesce(best, case when rigorous then 0.8 else 0.6 end)
      when 'supportive' then 0.6 when 'inconclusive' then 0.4
      when 'null' then case when n_rated > 0 or rigorous then 0.0 else 0.4 end
      else 0.0 end as value
  from st
),
-- Verdict per (cell, domain).
d as (
  select intervention, target_group, income_setting, domain,
    count(*) filter (where rigorous and standing = 'positive') as n_pos,
    count(*) filter (where rigorous and standing in ('null', 'negative', 'harmful')) as n_neg,
    coalesce(sum(w) filter (where rigorous and standing = 'positive'), 0) as w_pos,
    coalesce(sum(w) filter (where rigorous and standing in ('null', 'negative', 'harmful')), 0) as w_neg,
    bool_or(not rigorous and standing in ('positive', 'supportive')) as support,
    (2 + 4 * sum(w * value)) / (2 + 4 * sum(w)) as score,
    count(*) as studies
  from v group by all
),
dv as (
  select *,
    case
      when n_pos > 0 and n_neg > 0 and w_pos < 2 * w_neg and w_neg < 2 * w_pos then 'needs_research'
      when n_pos >= 2 and w_pos >= 2 * w_neg and domain <> 'risk_factor' then 'effective'
      when n_pos >= 1 and w_pos >= 2 * w_neg then 'promising'
      when n_neg >= 1 then 'ineffective'
      when support then 'prudent'
      else 'needs_research' end as category,
    n_pos + n_neg > 0 as rests_on_rigorous,
    case domain when 'violence' then 0 when 'behaviour' then 1 when 'other' then 2 else 3 end as tier
  from d
),
headline as (
  select * from (
    select *, row_number() over (
      partition by intervention, target_group, income_setting
      order by not rests_on_rigorous, tier) as k
    from dv) where k = 1
),
-- DerSimonian-Laird pooled effect of the cell's study effects.
p as (
  select intervention, target_group, income_setting,
    sum(1 / (ese * ese)) as sw, sum(ey / (ese * ese)) as swy, sum(ey * ey / (ese * ese)) as swyy,
    sum(1 / pow(ese, 4)) as sw2, count(*) as k
  from st where ey is not null and ese > 0 group by all
),
tau as (
  select *, case when k > 1 then greatest(0, ((swyy - swy * swy / sw) - (k - 1)) / (sw - sw2 / sw)) else 0 end as tau2
  from p
),
pooled as (
  select t.intervention, t.target_group, t.income_setting,
    sum(s.ey / (s.ese * s.ese + coalesce(t.tau2, 0))) / sum(1 / (s.ese * s.ese + coalesce(t.tau2, 0))) as pooled,
    sqrt(1 / sum(1 / (s.ese * s.ese + coalesce(t.tau2, 0)))) as pooled_se
  from tau t join st s using (intervention, target_group, income_setting)
  where s.ey is not null and s.ese > 0 group by all
)
select h.intervention, h.target_group, h.income_setting, h.domain, h.category, h.score, h.studies,
       pooled, pooled_se
from headline h left join pooled using (intervention, target_group, income_setting)
order by all
