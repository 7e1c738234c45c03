-- Argo CD health check for tradetune.dev/FineTuneJob.
-- Succeeded -> Healthy, Failed -> Degraded, Suspended -> Suspended, anything else -> Progressing.
-- A status that the operator wrote for an older generation of the spec is not trusted: until
-- status.observedGeneration catches up with metadata.generation the job is Progressing.
local hs = {}

local function condition(status, wanted)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local function message(status, ctype, fallback)
  local c = condition(status, ctype)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if status.message ~= nil and status.message ~= "" then
    return status.message
  end
  return fallback
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick up the FineTuneJob"
  return hs
end

local status = obj.status
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local phase = status.phase
if phase == nil then
  -- No phase yet: fall back on the terminal conditions.
  local failed = condition(status, "Failed")
  local succeeded = condition(status, "Succeeded")
  if failed ~= nil and failed.status == "True" then
    phase = "Failed"
  elseif succeeded ~= nil and succeeded.status == "True" then
    phase = "Succeeded"
  end
end

if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = message(status, "Succeeded", "Training, evaluation and gate succeeded")
elseif phase == "Failed" then
  hs.status = "Degraded"
  hs.message = message(status, "Failed", "The FineTuneJob failed")
elseif phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = message(status, "Ready", "The FineTuneJob is suspended (spec.suspend)")
else
  hs.status = "Progressing"
  hs.message = message(status, "Ready", "Phase " .. tostring(phase or "Pending"))
end
return hs
