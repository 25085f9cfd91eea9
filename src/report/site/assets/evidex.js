// evidex: progressive enhancement only (every page works without it).
// Sortable columns (click or Enter on a header button) and, in the static
// report, the target-group / income-setting filter of the ranked lists.
(function () {
  'use strict';
  function cellValue(row, idx) {
    var c = row.cells[idx];
    if (!c) return '';
    return c.getAttribute('data-v') || c.textContent.trim();
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, idx) {
      var b = th.querySelector('button');
      if (!b) return;
      b.addEventListener('click', function () {
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, idx), y = cellValue(b, idx);
          var nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var g = document.getElementById('f-group'), s = document.getElementById('f-setting');
  var status = document.getElementById('f-status');
  if (g && s) {
    var apply = function () {
      var shown = 0;
      document.querySelectorAll('.rank-block').forEach(function (block) {
        var ok = (g.value === '*' || block.getAttribute('data-group') === g.value) &&
                 (s.value === '*' || block.getAttribute('data-setting') === s.value);
        block.hidden = !ok;
        if (ok) shown += block.querySelectorAll('tbody tr').length;
      });
      if (status) status.textContent = shown + (shown === 1 ? ' intervention' : ' interventions') + ' shown';
    };
    g.addEventListener('change', apply);
    s.addEventListener('change', apply);
    apply();
  }
})();
