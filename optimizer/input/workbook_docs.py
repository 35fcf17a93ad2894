"""What each column and setting of a workbook means: the notes on its header
cells and settings rows, and which sheet a column's values are picked from
(the drop-downs of :mod:`optimizer.input.workbook`)."""

from __future__ import annotations

from collections.abc import Iterable

from optimizer.input.excel import NOTES_SHEET, SETTINGS_SHEET, required_columns

# --------------------------------------------------------------------------- column docs

#: setting -> (meaning, unit, required?)
SETTINGS_DOCS: dict[str, tuple[str, str | None, bool]] = {
    "format": ("Instance-format version: 1.", None, True),
    "name": ("Name of the instance, shown in reports.", None, True),
    "description": ("Free text.", None, False),
    "periods": ("The years planned, strictly increasing, ';'-separated "
                "(2026;2027;2028).", "year", True),
    "discount_rate": ("Costs of year t are multiplied by 1/(1+r)^(t - first year). "
                      "Empty = 0.", "fraction, 0-1", False),
    "carbon_price": ("Added to the landed cost as carbon_intensity x price / 1000. "
                     "Empty = 0.", "USD per t CO2e", False),
    "attributes": ("Extra supplier columns, ';'-separated (risk_score;union): numeric ones "
                   "can be averaged by rules, text ones group suppliers.", None, False),
    "stages": ("Upstream stages, in order, ';'-separated (mining;refining;active_material). "
               "Origins and rules by origin name one of them.", None, False),
    "spot_premium": ("Scenarios: spot purchases cost the scenario price x (1 + premium). "
                     "Empty = 0.2.", "fraction", False),
    "surplus_value": ("Scenarios: cells delivered beyond a scenario's demand (a demand "
                      "factor below 1) recover this share of their scenario ex-works price. "
                      "Default 0.", "fraction", False),
    "shortage_penalty": ("Scenarios: cost of demand left unmet where the application has no "
                         "unmet_penalty. Empty = 1000.", "USD/kWh", False),
}

_ID = "Identifier, unique in this sheet (text, even if it looks like a number)."
_PERIOD = "A year, one of the settings' periods."

#: table -> column -> (meaning, unit); required-ness comes from the schema
COLUMN_DOCS: dict[str, dict[str, tuple[str, str | None]]] = {
    "chemistries": {
        "id": (_ID, None),
        "family": ("Chemistry family: 'lithium', or another (sodium, zinc...) which counts as "
                   "an alternative technology.", None),
    },
    "countries": {
        "id": (_ID + " Usually an ISO code (CN, US).", None),
        "name": ("Display name.", None),
        "bloc": ("Trade bloc of the country; rules can group by bloc.", None),
    },
    "applications": {
        "id": (_ID, None),
        "chemistries": ("Allowed chemistry ids, ';'-separated (lfp;nmc).", None),
        "unmet_penalty": ("If given, demand may go unmet at this cost; empty = demand is "
                          "hard.", "USD/kWh"),
    },
    "demand": {
        "application": ("Application id.", None),
        "period": (_PERIOD, "year"),
        "gwh": ("Cells needed. A missing application-year means 0.", "GWh"),
    },
    "suppliers": {
        "id": (_ID + " One offer: a plant x chemistry.", None),
        "company": ("Company making the cells; rules can cap each company.", None),
        "country": ("Country id where the cells are made (drives tariffs).", None),
        "control": ("Country id of the controlling company. Empty = country.", None),
        "chemistry": ("Chemistry id.", None),
        "capacity": ("Capacity per year, unless the capacity sheet overrides a year.",
                     "GWh per year"),
        "price": ("Ex-works price, unless the prices sheet overrides a year.", "USD/kWh"),
        "freight": ("Delivery cost; the lanes sheet can override it per application. "
                    "Empty = 0.", "USD/kWh"),
        "fixed_cost": ("Charged for each year the supplier delivers anything.", "USD million"),
        "min_order": ("If the supplier delivers in a year, at least this much.", "GWh"),
        "carbon_intensity": ("Emissions of the cells; priced by carbon_price, averaged by "
                             "rules.", "kg CO2e/kWh"),
        "available_from": ("First year it can deliver. Empty = from the start.", "year"),
        "available_until": ("Last year it can deliver. Empty = to the end.", "year"),
        "qualification_cost": ("Charged once, in the first year the supplier delivers "
                               "anything (testing, audits). Empty = already qualified.",
                               "USD million"),
    },
    "capacity": {
        "supplier": ("Supplier id.", None),
        "period": (_PERIOD, "year"),
        "gwh": ("Capacity in that year, overriding the supplier's capacity.", "GWh"),
    },
    "prices": {
        "supplier": ("Supplier id.", None),
        "period": (_PERIOD, "year"),
        "price": ("Ex-works price in that year, overriding the supplier's price.", "USD/kWh"),
    },
    "tariffs": {
        "origin": ("Country id of production the duty applies to.", None),
        "rate": ("Ad valorem duty on the ex-works price (0.25 = 25%). Matching rows add up.",
                 "fraction"),
        "chemistry": ("Only this chemistry id. Empty = all.", None),
        "family": ("Only this chemistry family. Empty = all.", None),
        "from": ("First year it applies. Empty = from the start.", "year"),
        "until": ("Last year it applies. Empty = to the end.", "year"),
    },
    "price_tiers": {
        "supplier": ("Supplier id.", None),
        "from_gwh": ("The tier starts at this total volume of the supplier in a year; the "
                     "first tier starts at 0.", "GWh"),
        "price": ("Price of each GWh within the tier; replaces the base price.", "USD/kWh"),
        "period": ("Only this year. Empty = every year.", "year"),
    },
    "lanes": {
        "supplier": ("Supplier id.", None),
        "application": ("Application id.", None),
        "freight": ("Delivery cost for this supplier-application pair, overriding the "
                    "supplier's freight.", "USD/kWh"),
    },
    "rules": {
        "name": ("Unique name; reports and repairs use it.", None),
        "kind": ("max_share, min_share, max_volume, min_volume, exclude, max_count, "
                 "min_count, max_average, min_average, max_top_share, max_hhi or "
                 "max_change.", None),
        "by": ("What forms groups: supplier, company, country, control, bloc, chemistry, "
               "family or a declared text attribute. Not for average rules.", None),
        "group": ("Values pooled into one group, ';'-separated. Empty = each value of 'by' "
                  "separately.", None),
        "limit": ("A share (0-1), a volume (GWh), a count, an average (unit of the "
                  "attribute) or a change from one year to the next (GWh, max_change), "
                  "depending on the kind.", "depends on kind"),
        "applications": ("Applications covered, pooled, ';'-separated. Empty = all.", None),
        "per_application": ("TRUE: the rule holds for each covered application separately. "
                            "Empty = FALSE.", None),
        "periods": ("Years covered, ';'-separated. Empty = every year (each separately).",
                    "year"),
        "threshold": ("Count rules: share of the covered volume a group must supply to "
                      "count.", "fraction"),
        "attribute": ("Average rules: carbon_intensity or a declared numeric attribute.", None),
        "k": ("max_top_share: how many of the largest groups are summed.", "count"),
        "penalty": ("Makes the rule soft: it may be missed at this cost per unit of miss.",
                    "USD/kWh"),
        "material": ("by origin: the material whose origin countries the rule groups.", None),
        "stage": ("by origin: the stage (one of the settings' stages).", None),
        "measure": ("Share rules: gwh (default) or spend (landed cost, as the objective "
                    "counts it). Not with by origin (always kt of the material).", None),
    },
    "materials": {
        "id": (_ID, None),
        "name": ("A readable name. Empty = the id.", None),
    },
    "content": {
        "chemistry": ("Chemistry id.", None),
        "material": ("Material id.", None),
        "kg_per_kwh": ("Mass of the material in one kWh of these cells (1 GWh x 1 kg/kWh = "
                       "1 kt). A chemistry without a row holds none.", "kg/kWh"),
    },
    "origins": {
        "supplier": ("Supplier id.", None),
        "material": ("Material id.", None),
        "stage": ("Stage (one of the settings' stages).", None),
        "country": ("Country the material comes from at this stage.", None),
        "share": ("Share of the supplier's material from this country; a supplier's shares "
                  "for one material, stage and period add up to 1.", "fraction"),
        "period": ("Only this year (overrides the rows without a year). Empty = every "
                   "year.", "year"),
    },
    "expansions": {
        "supplier": ("Supplier id whose capacity the buyer may co-fund.", None),
        "step_gwh": ("Capacity one step adds, every year from when it is there.",
                     "GWh per year"),
        "cost": ("What the buyer pays for one step, in the year it funds it.", "USD million"),
        "lead_time": ("Years from funding to capacity (0 = the same year). Empty = 0.",
                      "years"),
        "max_steps": ("Steps at most, over all years. Empty = 1.", "steps"),
        "first": ("First year it may be funded. Empty = the first year.", "year"),
        "last": ("Last year it may be funded. Empty = the last year.", "year"),
        "integer": ("TRUE: whole steps only; FALSE: fractions too (the model stays "
                    "linear). Empty = TRUE.", None),
    },
    "contracts": {
        "name": ("Unique name of the offtake agreement; reports use it.", None),
        "supplier": ("Supplier id the agreement is with.", None),
        "from": ("First year it covers. Empty = the first year.", "year"),
        "until": ("Last year it covers. Empty = the last year.", "year"),
        "min_gwh": ("Once signed, the supplier's volume in each covered year is at least "
                    "this.", "GWh"),
        "max_gwh": ("Once signed, at most this in each covered year. Empty = no maximum.",
                    "GWh"),
        "discount": ("Lowers the ex-works price of every GWh from the supplier in the "
                     "covered years (0.05 = 5%). Empty = 0.", "fraction"),
        "take_or_pay": ("TRUE: GWh below min_gwh are paid for (at the ex-works price with "
                        "tariffs) instead of bought. Empty = FALSE.", None),
        "signed": ("TRUE: already signed; FALSE or empty: the model decides whether to "
                   "sign.", None),
    },
    "stock": {
        "application": ("Application id whose cells can be held in stock.", None),
        "max_gwh": ("The most that can be held at the end of a year.", "GWh"),
        "holding_cost": ("What holding one kWh costs for a year.", "USD/kWh"),
        "initial_gwh": ("Held before the first year. Empty = 0.", "GWh"),
    },
    "scenarios": {
        "name": ("Scenario name. Several factors: one row each, repeating the name, with "
                 "probability, from and until only on the first row.", None),
        "probability": ("Probability of the scenario; all together at most 1.", "fraction"),
        "from": ("First year it applies. Empty = from the start.", "year"),
        "until": ("Last year it applies. Empty = to the end.", "year"),
        "parent": ("The scenario it branches from (it keeps that one's factors and adds its "
                   "own from its 'from' year). Empty = the base case.", None),
        "capacity_factor.by": ("Capacity factor: what forms the group (as a rule's 'by').",
                               None),
        "capacity_factor.group": ("Capacity factor: the group's values, ';'-separated.", None),
        "capacity_factor.factor": ("Capacity factor: multiplies the group's capacity "
                                   "(0 = cut off). Or a distribution: uniform(low, high), "
                                   "triangular(low, mode, high), normal(mean, sd).", "factor"),
        "price_factor.by": ("Price factor: what forms the group (as a rule's 'by').", None),
        "price_factor.group": ("Price factor: the group's values, ';'-separated.", None),
        "capacity_factor.material": ("Capacity factor by origin: the material whose origin "
                                     "the group's countries are.", None),
        "capacity_factor.stage": ("Capacity factor by origin: the stage (mining, refining "
                                  "...).", None),
        "price_factor.factor": ("Price factor: multiplies the group's ex-works price "
                                "(1.4 = +40%). Or a distribution, as for capacity.", "factor"),
        "price_add.by": ("Price added by origin: always 'origin'.", None),
        "price_add.material": ("Price added: the material whose price rises.", None),
        "price_add.stage": ("Price added: the stage the group's countries supply.", None),
        "price_add.group": ("Price added: the countries, ';'-separated.", None),
        "demand_factor.applications": ("Demand factor: the applications whose demand "
                                       "changes, ';'-separated. Empty = all.", None),
        "demand_factor.factor": ("Demand factor: multiplies their demand in the scenario's "
                                 "years (1.2 = +20%). Or a distribution, as for capacity.",
                                 "factor"),
        "price_add.usd_per_kg": ("Price added: USD per kg of the material from the group "
                                 "(x kg per kWh x the supplier's share from the group is "
                                 "added to its ex-works price). Or a distribution.", "USD/kg"),
    },
}

NOTES_DOCS = {
    "table": ("The sheet the note belongs to; empty = the instance as a whole.", None),
    "before_row": ("The row of that sheet the note stands before (empty = at the top).",
                   None),
    "note": ("Free text: sources, remarks. Never read as data.", None),
}

#: (table, column) -> (sheet, column) whose values a drop-down offers
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("suppliers", "country"): ("countries", "id"),
    ("suppliers", "control"): ("countries", "id"),
    ("suppliers", "chemistry"): ("chemistries", "id"),
    ("demand", "application"): ("applications", "id"),
    ("capacity", "supplier"): ("suppliers", "id"),
    ("prices", "supplier"): ("suppliers", "id"),
    ("price_tiers", "supplier"): ("suppliers", "id"),
    ("lanes", "supplier"): ("suppliers", "id"),
    ("lanes", "application"): ("applications", "id"),
    ("tariffs", "origin"): ("countries", "id"),
    ("tariffs", "chemistry"): ("chemistries", "id"),
    ("tariffs", "family"): ("chemistries", "family"),
    ("content", "chemistry"): ("chemistries", "id"),
    ("content", "material"): ("materials", "id"),
    ("origins", "supplier"): ("suppliers", "id"),
    ("origins", "material"): ("materials", "id"),
    ("origins", "country"): ("countries", "id"),
    ("rules", "material"): ("materials", "id"),
    ("expansions", "supplier"): ("suppliers", "id"),
    ("contracts", "supplier"): ("suppliers", "id"),
    ("stock", "application"): ("applications", "id"),
}


def column_doc(table: str, column: str, attributes: Iterable[str] = ()) -> str:
    """The note on a column header: meaning, unit, required or not."""
    if table == NOTES_SHEET:
        meaning, unit = NOTES_DOCS[column]
        required = False
    elif table == SETTINGS_SHEET:
        meaning = {"key": "The setting's name (one per row).",
                   "value": "Its value; empty = the default.",
                   "note": "Free text, never read."}[column]
        unit, required = None, column == "key"
    elif column in COLUMN_DOCS.get(table, {}):
        meaning, unit = COLUMN_DOCS[table][column]
        required = column in required_columns(table)
    else:
        meaning = ("Declared supplier attribute (settings 'attributes'): a number can be "
                   "averaged by rules, a text groups suppliers in rules.")
        unit, required = None, False
    lines = [meaning]
    if unit:
        lines.append(f"Unit: {unit}.")
    ref = REFERENCES.get((table, column))
    if ref:
        lines.append(f"Pick from sheet '{ref[0]}', column '{ref[1]}'.")
    lines.append("Required." if required else "Optional: leave empty if not needed.")
    return "\n".join(lines)


def settings_note(key: str) -> str:
    meaning, unit, required = SETTINGS_DOCS[key]
    out = meaning + (f" Unit: {unit}." if unit else "")
    return out + (" Required." if required else "")
