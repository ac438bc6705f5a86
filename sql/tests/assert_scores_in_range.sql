-- Scores are 0-100 and their band matches.
select *
from creep_scores
where score < 0 or score > 100
    or band <> case when score <= 33 then 'low' when score <= 66 then 'medium' else 'high' end
